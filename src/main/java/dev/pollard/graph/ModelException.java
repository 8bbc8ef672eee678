package dev.pollard.graph;

/** A model Pollard cannot work with; the message is one line naming the file or node and the problem. */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(oneLine(message));
    }

    public ModelException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** Messages quote names from the model, which may hold line breaks; the message is a Job's one-line failure reason. */
    private static String oneLine(String message) {
        return message.replaceAll("\\R", " ");
    }
}
