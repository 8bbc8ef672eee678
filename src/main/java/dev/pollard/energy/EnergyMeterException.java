package dev.pollard.energy;

/** A meter that cannot measure here; the message says why in a line (no driver, no permission, not supported...). */
public class EnergyMeterException extends RuntimeException {
    public EnergyMeterException(String message) {
        super(message);
    }
}
