package dev.pollard.serve;

/**
 * The endpoints of the model server: those of the Open Inference Protocol's REST API, and /metrics. A fixed set, so
 * their templates can label metrics: clients cannot add label values by requesting paths.
 */
enum Route {
    SERVER_METADATA("GET", "/v2"),
    SERVER_LIVE("GET", "/v2/health/live"),
    SERVER_READY("GET", "/v2/health/ready"),
    MODEL_METADATA("GET", "/v2/models/{name}"),
    MODEL_READY("GET", "/v2/models/{name}/ready"),
    MODEL_INFER("POST", "/v2/models/{name}/infer"),
    VERSION_METADATA("GET", "/v2/models/{name}/versions/{version}"),
    VERSION_READY("GET", "/v2/models/{name}/versions/{version}/ready"),
    VERSION_INFER("POST", "/v2/models/{name}/versions/{version}/infer"),
    METRICS("GET", "/metrics"),
    /** No endpoint: an unknown path, or a model or version this server does not serve. */
    OTHER(null, "other");

    private static final String MODELS = "/v2/models/";

    final String method;
    final String template;

    Route(String method, String template) {
        this.method = method;
        this.template = template;
    }

    /** A path's route, with the model name and version it names (null where its route has none). */
    record Match(Route route, String model, String version) {
    }

    static Match match(String path) {
        switch (path) {
            case "/v2", "/v2/":
                return new Match(SERVER_METADATA, null, null);
            case "/v2/health/live":
                return new Match(SERVER_LIVE, null, null);
            case "/v2/health/ready":
                return new Match(SERVER_READY, null, null);
            case "/metrics":
                return new Match(METRICS, null, null);
            default:
                break;
        }
        Match none = new Match(OTHER, null, null);
        if (!path.startsWith(MODELS)) {
            return none;
        }
        // NAME[/ready|/infer] or NAME/versions/VERSION[/ready|/infer]
        String[] parts = path.substring(MODELS.length()).split("/", -1);
        String model = parts[0];
        if (model.isEmpty()) {
            return none;
        }
        if (parts.length >= 3 && parts[1].equals("versions") && !parts[2].isEmpty()) {
            return switch (last(parts, 3)) {
                case "" -> new Match(VERSION_METADATA, model, parts[2]);
                case "ready" -> new Match(VERSION_READY, model, parts[2]);
                case "infer" -> new Match(VERSION_INFER, model, parts[2]);
                default -> none;
            };
        }
        return switch (last(parts, 1)) {
            case "" -> new Match(MODEL_METADATA, model, null);
            case "ready" -> new Match(MODEL_READY, model, null);
            case "infer" -> new Match(MODEL_INFER, model, null);
            default -> none;
        };
    }

    /** The one segment at {@code index} that ends the path, "" when the path ends before it, "/" when it goes on. */
    private static String last(String[] parts, int index) {
        return parts.length == index ? "" : parts.length == index + 1 ? parts[index] : "/";
    }

    boolean infers() {
        return this == MODEL_INFER || this == VERSION_INFER;
    }
}
