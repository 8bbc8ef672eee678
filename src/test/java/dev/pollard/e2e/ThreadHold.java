package dev.pollard.e2e;

import com.sun.jdi.Bootstrap;
import com.sun.jdi.IncompatibleThreadStateException;
import com.sun.jdi.Location;
import com.sun.jdi.Method;
import com.sun.jdi.ObjectReference;
import com.sun.jdi.PrimitiveValue;
import com.sun.jdi.ReferenceType;
import com.sun.jdi.StringReference;
import com.sun.jdi.ThreadReference;
import com.sun.jdi.VMDisconnectedException;
import com.sun.jdi.Value;
import com.sun.jdi.VirtualMachine;
import com.sun.jdi.connect.Connector;
import com.sun.jdi.connect.IllegalConnectorArgumentsException;
import com.sun.jdi.connect.ListeningConnector;
import com.sun.jdi.event.BreakpointEvent;
import com.sun.jdi.event.ClassPrepareEvent;
import com.sun.jdi.event.Event;
import com.sun.jdi.event.EventSet;
import com.sun.jdi.event.VMDeathEvent;
import com.sun.jdi.event.VMDisconnectEvent;
import com.sun.jdi.request.BreakpointRequest;
import com.sun.jdi.request.ClassPrepareRequest;
import com.sun.jdi.request.EventRequest;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Holds one thread of a pod's process at a chosen point, deterministically, whatever the machine's speed: the process
 * starts under the JDWP agent, suspended until it has connected to this debugger, and a breakpoint where
 * {@code CLASS.METHOD} returns stops the thread that gets there with arguments the predicate accepts. Only that thread
 * stops: the rest of the process (its HTTP endpoints, for one) carries on, which is what a test of a run in flight
 * needs. {@link #release()} lets it go on.
 */
public final class ThreadHold {
    private static final String COUNTS = "counts";
    private final Predicate<Pod> pods;
    private final String className;
    private final String methodName;
    private final Predicate<List<Object>> when;
    private final Set<String> counted;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final AtomicBoolean claimed = new AtomicBoolean();
    /** Done when a thread is held; failed when the process ends (or the debugger fails) before. */
    private final CompletableFuture<Void> held = new CompletableFuture<>();
    private volatile VirtualMachine vm;

    /**
     * @param pods which pod's process to hold (the first matching pod started after this hold was registered)
     * @param when accepts the method's arguments (Strings, boxed numbers, or the JDI value's text) at the hold point
     * @param counted methods of the same class whose calls are counted (nothing stops there), see {@link #calls}
     */
    ThreadHold(Predicate<Pod> pods, String className, String methodName, Predicate<List<Object>> when, Set<String> counted) {
        this.pods = pods;
        this.className = className;
        this.methodName = methodName;
        this.when = when;
        this.counted = counted;
        counted.forEach(m -> calls.put(m, new AtomicInteger()));
    }

    /** How many times a counted method of the class has been entered in the process so far. */
    public int calls(String method) {
        return calls.get(method).get();
    }

    /** True once, for the first pod this hold is for. */
    boolean claim(Pod pod) {
        return pods.test(pod) && claimed.compareAndSet(false, true);
    }

    /** Listens for the process's debug agent; returns the JVM option that makes the process connect to it. */
    String listen() throws IOException {
        ListeningConnector connector = Bootstrap.virtualMachineManager().listeningConnectors().stream()
                .filter(c -> "dt_socket".equals(c.transport().name())).findFirst()
                .orElseThrow(() -> new IllegalStateException("this JDK has no socket debugging connector"));
        Map<String, Connector.Argument> arguments = connector.defaultArguments();
        arguments.get("localAddress").setValue("127.0.0.1");
        arguments.get("port").setValue("0");
        String address;
        try {
            address = connector.startListening(arguments);
        } catch (IllegalConnectorArgumentsException e) {
            throw new IllegalStateException(e);
        }
        Thread debugger = new Thread(() -> {
            try {
                vm = connector.accept(arguments);
                connector.stopListening(arguments);
                follow();
            } catch (IOException | IllegalConnectorArgumentsException | RuntimeException e) {
                held.completeExceptionally(e);
            } finally {
                held.completeExceptionally(new AssertionError("the process ended before a thread reached " + className
                        + "." + methodName));
            }
        }, "hold-" + className + "." + methodName);
        debugger.setDaemon(true);
        debugger.start();
        return "-agentlib:jdwp=transport=dt_socket,server=n,suspend=y,address=" + address;
    }

    /** Sets the breakpoint as soon as the class is loaded, then stops the first thread whose arguments match. */
    private void follow() {
        ClassPrepareRequest prepare = vm.eventRequestManager().createClassPrepareRequest();
        prepare.addClassFilter(className);
        prepare.setSuspendPolicy(EventRequest.SUSPEND_EVENT_THREAD);
        prepare.enable();
        vm.resume();
        try {
            while (true) {
                EventSet events = vm.eventQueue().remove();
                boolean resume = true;
                for (Event event : events) {
                    if (event instanceof ClassPrepareEvent prepared) {
                        breakAtReturn(prepared.referenceType());
                        countCalls(prepared.referenceType());
                    } else if (event instanceof BreakpointEvent hit && hit.request().getProperty(COUNTS) != null) {
                        calls.get((String) hit.request().getProperty(COUNTS)).incrementAndGet();
                    } else if (event instanceof BreakpointEvent hit && when.test(arguments(hit.thread()))) {
                        event.request().disable();
                        resume = false; // the thread stays where it is until release()
                        held.complete(null);
                    } else if (event instanceof VMDeathEvent || event instanceof VMDisconnectEvent) {
                        return;
                    }
                }
                if (resume) {
                    events.resume();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (VMDisconnectedException e) {
            // the process ended or the hold was released
        }
    }

    /** A breakpoint on the method's last line: its return, so what the method did is done. */
    private void breakAtReturn(ReferenceType type) {
        for (Method method : type.methodsByName(methodName)) {
            try {
                Location last = method.allLineLocations().stream().max(Comparator.comparingLong(Location::codeIndex))
                        .orElseThrow(() -> new IllegalStateException(method + " has no line numbers"));
                BreakpointRequest request = vm.eventRequestManager().createBreakpointRequest(last);
                request.setSuspendPolicy(EventRequest.SUSPEND_EVENT_THREAD);
                request.enable();
            } catch (com.sun.jdi.AbsentInformationException e) {
                throw new IllegalStateException(method + " was compiled without line numbers", e);
            }
        }
    }

    /** Breakpoints that stop nothing at the start of each counted method: each hit is one call. */
    private void countCalls(ReferenceType type) {
        for (String name : counted) {
            for (Method method : type.methodsByName(name)) {
                BreakpointRequest request = vm.eventRequestManager().createBreakpointRequest(method.location());
                request.setSuspendPolicy(EventRequest.SUSPEND_NONE);
                request.putProperty(COUNTS, name);
                request.enable();
            }
        }
    }

    private static List<Object> arguments(ThreadReference thread) {
        try {
            List<Object> values = new ArrayList<>();
            for (Value v : thread.frame(0).getArgumentValues()) {
                values.add(javaValue(v));
            }
            return values;
        } catch (IncompatibleThreadStateException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Strings and numbers as Java values (boxed numbers unboxed from their {@code value} field); anything else as text. */
    private static Object javaValue(Value value) {
        if (value == null) {
            return null;
        }
        if (value instanceof StringReference s) {
            return s.value();
        }
        if (value instanceof PrimitiveValue p) {
            return switch (p.type().name()) {
                case "int" -> p.intValue();
                case "long" -> p.longValue();
                case "double" -> p.doubleValue();
                case "float" -> p.floatValue();
                case "boolean" -> p.booleanValue();
                default -> p.toString();
            };
        }
        if (value instanceof ObjectReference o && o.referenceType().name().startsWith("java.lang.")
                && o.referenceType().fieldByName("value") != null) {
            return javaValue(o.getValue(o.referenceType().fieldByName("value")));
        }
        return value.toString();
    }

    /** Waits until a thread is held here; fails at once if the process ends first. {@code atMost} only bounds a failure. */
    public void awaitHeld(Duration atMost) throws InterruptedException {
        try {
            held.get(atMost.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("no thread reached " + className + "." + methodName + " within " + atMost
                    + (claimed.get() ? "" : " (no pod for this hold was started)"));
        }
    }

    /** Lets the held thread go on; the process runs on without a debugger. */
    public void release() {
        VirtualMachine attached = vm;
        if (attached != null) {
            try {
                attached.dispose(); // resumes what this debugger suspended and detaches
            } catch (VMDisconnectedException e) {
                // already gone
            }
        }
    }
}
