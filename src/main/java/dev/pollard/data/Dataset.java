package dev.pollard.data;

import java.util.Arrays;
import java.util.Random;

/**
 * Labelled samples in memory: float features, one row of {@code sampleSize()} values per sample in row-major order,
 * and an int label per sample.
 */
public record Dataset(float[] features, int[] labels, int[] sampleShape) {

    public Dataset {
        int size = sampleSize(sampleShape);
        if (labels.length * (long) size != features.length) {
            throw new IllegalArgumentException(labels.length + " labels but " + features.length + " feature values for shape "
                    + Arrays.toString(sampleShape));
        }
    }

    private static int sampleSize(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public int size() {
        return labels.length;
    }

    public int sampleSize() {
        return sampleSize(sampleShape);
    }

    public int classes() {
        return Arrays.stream(labels).max().orElse(-1) + 1;
    }

    /** Samples [from, from + count), clipped to the dataset. */
    public Dataset slice(int from, int count) {
        int to = Math.min(size(), from + count);
        int s = sampleSize();
        return new Dataset(Arrays.copyOfRange(features, from * s, to * s), Arrays.copyOfRange(labels, from, to), sampleShape);
    }

    /** The samples at these indices, in this order. */
    public Dataset select(int[] indices) {
        int s = sampleSize();
        float[] f = new float[indices.length * s];
        int[] l = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            System.arraycopy(features, indices[i] * s, f, i * s, s);
            l[i] = labels[indices[i]];
        }
        return new Dataset(f, l, sampleShape);
    }

    /** A permutation of the sample indices, reproducible from the seed. */
    public int[] shuffledIndices(long seed) {
        int[] order = new int[size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Random random = new Random(seed);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** (x - mean) / std over every value: the usual input normalisation. */
    public Dataset normalized(float mean, float std) {
        float[] f = new float[features.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (features[i] - mean) / std;
        }
        return new Dataset(f, labels, sampleShape);
    }
}
