package dev.pollard.energy;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/** The NVML functions Pollard uses, as declared in nvml.h (nvmlDevice_t is an opaque pointer). */
interface NvmlLibrary extends Library {
    int NVML_SUCCESS = 0;
    int NVML_ERROR_UNINITIALIZED = 1;
    int NVML_ERROR_INVALID_ARGUMENT = 2;
    int NVML_ERROR_NOT_SUPPORTED = 3;
    int NVML_ERROR_NO_PERMISSION = 4;
    int NVML_ERROR_NOT_FOUND = 6;
    int NVML_ERROR_DRIVER_NOT_LOADED = 9;
    int NVML_ERROR_LIBRARY_NOT_FOUND = 12;
    int NVML_ERROR_GPU_IS_LOST = 15;
    int NVML_ERROR_UNKNOWN = 999;

    int nvmlInit_v2();

    int nvmlShutdown();

    int nvmlDeviceGetCount_v2(IntByReference count);

    int nvmlDeviceGetHandleByIndex_v2(int index, PointerByReference device);

    int nvmlDeviceGetHandleByUUID(String uuid, PointerByReference device);

    int nvmlDeviceGetName(Pointer device, byte[] name, int length);

    int nvmlDeviceGetUUID(Pointer device, byte[] uuid, int length);

    int nvmlSystemGetDriverVersion(byte[] version, int length);

    int nvmlDeviceGetPowerManagementLimit(Pointer device, IntByReference milliwatts);

    int nvmlDeviceGetTotalEnergyConsumption(Pointer device, LongByReference millijoules);

    int nvmlDeviceGetPowerUsage(Pointer device, IntByReference milliwatts);
}
