package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventWritersTest {

    @Test
    void aWriteThatHangsNeverHoldsTheCallerAndAFullQueueDropsInsteadOfWaiting() throws InterruptedException {
        EventWriters writers = new EventWriters(1, 1);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> written = new CopyOnWriteArrayList<>();

        assertThat(writers.submit("a", () -> {
            started.countDown();
            await(release);
            written.add("first");
        })).isTrue();
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue(); // the writer is held inside the first write
        assertThat(writers.submit("a", () -> written.add("queued"))).isTrue();
        assertThat(writers.submit("a", () -> written.add("dropped"))).as("the queue of one is full").isFalse();

        CountDownLatch drained = new CountDownLatch(1);
        release.countDown();
        while (!writers.submit("a", drained::countDown)) {
            Thread.onSpinWait(); // until the held write ends and the queue has room again
        }
        assertThat(drained.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(written).containsExactly("first", "queued");
    }

    @Test
    void writesAboutOneResourceKeepTheirOrder() throws InterruptedException {
        EventWriters writers = new EventWriters(4, 100);
        List<Integer> written = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        for (int i = 0; i < 50; i++) {
            int n = i;
            assertThat(writers.submit("uid-1", () -> written.add(n))).isTrue();
            writers.submit("uid-" + (i + 2), () -> { }); // others, on whichever writer they hash to
        }
        writers.submit("uid-1", done::countDown);
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(written).isSorted().hasSize(50);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
