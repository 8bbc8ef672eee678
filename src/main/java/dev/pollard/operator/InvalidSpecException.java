package dev.pollard.operator;

/** A spec the CRD schema accepted but the operator cannot act on; its message names the field. Not retried. */
public class InvalidSpecException extends RuntimeException {
    public InvalidSpecException(String message) {
        super(message);
    }
}
