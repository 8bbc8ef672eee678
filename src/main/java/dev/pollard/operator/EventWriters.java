package dev.pollard.operator;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where Events are written: a few threads of their own with bounded queues, so that announcing a change never holds
 * a reconciliation thread (as client-go's event broadcaster does it). Under a burst every request to the API server
 * waits, and the reconciliation threads that every controller shares were all parked on such waits while new resources
 * queued behind them (docs/results.md, "Operator at scale", runs 28–34). The writes about one resource go to one
 * writer, so they keep their order; a full queue drops the write instead of waiting, because an Event is a courtesy and
 * the status already says the same.
 */
final class EventWriters {
    private final List<ThreadPoolExecutor> writers = new ArrayList<>();

    EventWriters(int writers, int queuePerWriter) {
        for (int i = 0; i < writers; i++) {
            ThreadPoolExecutor writer = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS,
                    new ArrayBlockingQueue<>(queuePerWriter), runnable -> {
                        Thread thread = new Thread(runnable, "event-writer");
                        thread.setDaemon(true);
                        return thread;
                    });
            writer.allowCoreThreadTimeOut(true);
            this.writers.add(writer);
        }
    }

    /**
     * @param key what the write is about (a resource's UID): writes with the same key run in the order given
     * @return false when the write was dropped because its writer's queue is full; never waits
     */
    boolean submit(String key, Runnable write) {
        try {
            writers.get(Math.floorMod(key.hashCode(), writers.size())).execute(write);
            return true;
        } catch (RejectedExecutionException full) {
            return false;
        }
    }
}
