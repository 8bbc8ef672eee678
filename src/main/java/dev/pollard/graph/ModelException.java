package dev.pollard.graph;

/** A model Pollard cannot work with; the message is one line naming the file or node and the problem. */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
