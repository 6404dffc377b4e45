package dev.kvslim.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorMask;
import org.junit.jupiter.api.Test;

/**
 * {@code core/jit/inline.txt}, the JIT directives every KVSlim JVM starts with: each of its {@code inline} lines
 * names a method that exists, every method of {@code dev.kvslim.core} that takes or returns a vector or a mask is
 * named (else C2 may leave it a call and box its vectors: see the file), and the launchers pass the file.
 */
class CoreJitDirectivesTest {

    private static final Path FILE = Path.of("jit", "inline.txt");

    record Directive(String className, String method) {
        boolean matches(Method m) {
            return m.getDeclaringClass().getName().equals(className)
                    && (method.endsWith("*")
                            ? m.getName().startsWith(method.substring(0, method.length() - 1))
                            : m.getName().equals(method));
        }
    }

    static List<Directive> directives() throws IOException {
        List<Directive> out = new ArrayList<>();
        for (String line : Files.readAllLines(FILE)) {
            String s = line.strip();
            if (s.startsWith("inline ")) {
                String[] parts = s.substring("inline ".length()).strip().split("::", -1);
                assertThat(parts).as("directive %s", s).hasSize(2);
                out.add(new Directive(parts[0], parts[1]));
            }
        }
        return out;
    }

    static List<Class<?>> coreClasses() throws IOException, URISyntaxException {
        Path root = Path.of(FastExp.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root.resolve("dev/kvslim/core"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                String name = root.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", "");
                try {
                    out.add(Class.forName(name, false, FastExp.class.getClassLoader()));
                } catch (ClassNotFoundException e) {
                    throw new AssertionError(name, e);
                }
            }
        }
        return out;
    }

    private static boolean vectorTyped(Class<?> type) {
        return Vector.class.isAssignableFrom(type) || VectorMask.class.isAssignableFrom(type);
    }

    @Test
    void everyDirectiveNamesAMethodOfCore() throws Exception {
        List<Directive> directives = directives();
        assertThat(directives).isNotEmpty();
        assertThat(Files.readAllLines(FILE))
                .as("no 'CompileCommand:' lines on standard output")
                .contains("quiet");
        for (Directive d : directives) {
            Class<?> c = Class.forName(d.className(), false, FastExp.class.getClassLoader());
            assertThat(Arrays.stream(c.getDeclaredMethods()).anyMatch(d::matches))
                    .as("%s has a method %s", d.className(), d.method())
                    .isTrue();
        }
    }

    @Test
    void everyMethodThatPassesAVectorIsInlined() throws Exception {
        List<Directive> directives = directives();
        List<String> missing = new ArrayList<>();
        for (Class<?> c : coreClasses()) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.isSynthetic() || Modifier.isNative(m.getModifiers())) {
                    continue;
                }
                boolean vectors = vectorTyped(m.getReturnType())
                        || Arrays.stream(m.getParameterTypes()).anyMatch(CoreJitDirectivesTest::vectorTyped);
                if (vectors && directives.stream().noneMatch(d -> d.matches(m))) {
                    missing.add(c.getName() + "::" + m.getName());
                }
            }
        }
        assertThat(missing)
                .as("methods passing vectors that core/jit/inline.txt leaves out")
                .isEmpty();
    }

    @Test
    void theLaunchersPassTheFile() throws IOException {
        Path repo = Path.of("").toAbsolutePath().getParent();
        assertThat(Files.readString(repo.resolve("kvslim")))
                .contains("-XX:CompileCommandFile=\"$root/core/jit/inline.txt\"");
        assertThat(Files.readString(repo.resolve("pom.xml")))
                .contains("-XX:CompileCommandFile=${maven.multiModuleProjectDirectory}/core/jit/inline.txt");
        assertThat(Files.readString(repo.resolve("cli/pom.xml")))
                .contains("-XX:CompileCommandFile=/app/jit/inline.txt");
    }
}
