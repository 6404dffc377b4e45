package dev.kvslim.cli;

import java.util.Locale;
import picocli.CommandLine;

/**
 * A byte count as a flag gives it: a whole number, optionally followed by K/KiB, M/MiB or G/GiB (powers of 1024,
 * any case), e.g. {@code 268435456}, {@code 256MiB}, {@code 4G}.
 */
final class ByteSize implements CommandLine.ITypeConverter<Long> {

    @Override
    public Long convert(String value) {
        return parse(value);
    }

    static long parse(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        int shift = 0;
        for (String[] unit :
                new String[][] {{"kib", "10"}, {"mib", "20"}, {"gib", "30"}, {"k", "10"}, {"m", "20"}, {"g", "30"}}) {
            if (v.endsWith(unit[0])) {
                shift = Integer.parseInt(unit[1]);
                v = v.substring(0, v.length() - unit[0].length()).strip();
                break;
            }
        }
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a byte count: give a whole number,"
                    + " optionally with KiB, MiB or GiB (e.g. 256MiB)");
        }
        if (n <= 0 || n > Long.MAX_VALUE >> shift) {
            throw new CommandLine.TypeConversionException(
                    "a byte count must be positive and below 2^63, got '" + value + "'");
        }
        return n << shift;
    }
}
