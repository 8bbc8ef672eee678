package dev.pollard.energy;

/**
 * Datasheet figures of an accelerator, as in a HardwareClass's {@code spec.energyModel}.
 *
 * @param tdpWatts board power limit
 * @param idleWatts power when idle
 * @param peakTflops peak dense throughput of the precision the model runs in
 * @param memoryBandwidthGBs memory bandwidth
 */
public record EnergyModel(double tdpWatts, double idleWatts, double peakTflops, double memoryBandwidthGBs) {
    public EnergyModel {
        if (!(tdpWatts > 0) || idleWatts < 0 || idleWatts >= tdpWatts || !(peakTflops > 0) || !(memoryBandwidthGBs > 0)) {
            throw new IllegalArgumentException("energy model needs tdpWatts > idleWatts >= 0, peakTflops > 0 and "
                    + "memoryBandwidthGBs > 0, got " + tdpWatts + ", " + idleWatts + ", " + peakTflops + ", " + memoryBandwidthGBs);
        }
    }
}
