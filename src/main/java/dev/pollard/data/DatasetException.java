package dev.pollard.data;

import java.nio.file.Path;

/** A dataset that cannot be read; the message is one line naming the file and what is wrong with it. */
public class DatasetException extends RuntimeException {
    public DatasetException(Path file, String problem) {
        super(oneLine(file + ": " + problem));
    }

    public DatasetException(Path file, String problem, Throwable cause) {
        super(oneLine(file + ": " + problem), cause);
    }

    /** Problems quote the file's own bytes, which may hold line breaks; the message is a Job's one-line failure reason. */
    private static String oneLine(String message) {
        return message.replaceAll("\\R", " ");
    }
}
