/*
 * A fake libnvidia-ml.so for tests of the NVML meter through JNA. It exports the NVML functions Pollard calls and
 * simulates a GPU drawing constant power: an energy counter (millijoules) that advances only every `update_ms`
 * milliseconds, like real boards, power samples, a device without the counter, wrap-around of the 64-bit counter,
 * and error codes on demand. Tests configure it through fakeNvmlConfigure().
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef void *nvmlDevice_t;

static double watts = 250.0;
static int update_ms = 50;
static unsigned long long counter_start = 0;
static int has_counter = 1;
static int init_error = 0;
static int energy_error = 0;
static int device_count = 1;
static struct timespec epoch;
static int initialised = 0;
static char device_token;

static double elapsed_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - epoch.tv_sec) * 1e3 + (now.tv_nsec - epoch.tv_nsec) / 1e6;
}

/* power in W, counter update period, first counter value, counter present?, error codes for init and energy reads */
void fakeNvmlConfigure(double power_watts, int period_ms, unsigned long long start_mj, int counter, int init_rc, int energy_rc) {
    watts = power_watts;
    update_ms = period_ms;
    counter_start = start_mj;
    has_counter = counter;
    init_error = init_rc;
    energy_error = energy_rc;
    clock_gettime(CLOCK_MONOTONIC, &epoch);
}

int nvmlInit_v2(void) {
    if (init_error) return init_error;
    initialised = 1;
    return 0;
}

int nvmlShutdown(void) {
    initialised = 0;
    return 0;
}

int nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return 1;
    *count = device_count;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialised) return 1;
    if (index >= (unsigned int) device_count) return 2;
    *device = &device_token;
    return 0;
}

int nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device) {
    if (!initialised) return 1;
    if (strcmp(uuid, "GPU-fake-0000") != 0) return 6;
    *device = &device_token;
    return 0;
}

static int copy(char *out, unsigned int length, const char *text) {
    if (strlen(text) + 1 > length) return 7; /* NVML_ERROR_INSUFFICIENT_SIZE */
    strcpy(out, text);
    return 0;
}

int nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    return copy(name, length, "NVIDIA H100 80GB HBM3 (fake)");
}

int nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    return copy(uuid, length, "GPU-fake-0000");
}

int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    return copy(version, length, "550.54.15-fake");
}

int nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit) {
    *limit = 700000;
    return 0;
}

int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy) {
    if (!initialised) return 1;
    if (!has_counter) return 3;
    if (energy_error) return energy_error;
    /* the counter moves in steps: the energy of whole update periods only; unsigned arithmetic wraps like hardware */
    double ms = elapsed_ms();
    double stepped = (double) ((long long) (ms / update_ms)) * update_ms;
    *energy = counter_start + (unsigned long long) (stepped * watts);
    return 0;
}

int nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
    if (!initialised) return 1;
    *power = (unsigned int) (watts * 1000.0);
    return 0;
}
