/**
 * The custom resources of the {@code pollard.dev/v1alpha1} API. Plain classes: the CRDs under {@code crds/} are
 * generated from them at build time (validation from the annotations, descriptions from
 * {@code @JsonPropertyDescription}), so these classes are the single source of truth for the API.
 */
package dev.pollard.api;
