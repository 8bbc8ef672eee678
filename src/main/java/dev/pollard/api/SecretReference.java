package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** A Secret in the same namespace, referenced by name: credentials never appear in a spec. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SecretReference {
    @Required
    @Pattern(Patterns.DNS_SUBDOMAIN)
    @JsonPropertyDescription("Name of a Secret in the same namespace whose key Authorization is sent as the HTTP "
            + "Authorization header of an http(s) URI, for example 'Bearer <token>'.")
    public String name;

    public SecretReference() {
    }

    public SecretReference(String name) {
        this.name = name;
    }
}
