package dev.kvslim.tasks.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.tasks.Sample;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class NeedleTaskTest {

    private static final Pattern RECORD = Pattern.compile(" The code for ([A-Z]{3})=(\\d{4})\\.");
    private static final Pattern QUESTION = Pattern.compile("\nWhat is the code for ([A-Z]{3})\\?\n$");
    private final NeedleTask task = new NeedleTask();

    @Test
    void theTargetIsTheAskedRecordReadBackFromThePrompt() {
        for (int n = 0; n < 200; n++) {
            Sample s = task.generate(n, 1024);
            Map<String, String> codes = new HashMap<>();
            Matcher m = RECORD.matcher(s.prompt());
            while (m.find()) {
                assertThat(codes.put(m.group(1), m.group(2))).as("key repeated").isNull();
            }
            assertThat(codes).hasSize(4);
            assertThat(String.join("", codes.keySet()).chars().distinct().count())
                    .as("keys share no letter")
                    .isEqualTo(12);
            Matcher q = QUESTION.matcher(s.prompt());
            assertThat(q.find()).isTrue();
            assertThat(s.target()).isEqualTo(q.group(1) + "=" + codes.get(q.group(1)) + "\n");
            assertThat(s.answer()).isEqualTo(codes.get(q.group(1)));
            assertThat(s.prompt()).startsWith("Remember the codes. ");
        }
    }

    @Test
    void theAskedRecordIsAtAnyDepthAndOnAverageHundredsOfTokensBack() {
        int samples = 400;
        double min = 1;
        double max = 0;
        long distance = 0;
        for (int n = 0; n < samples; n++) {
            Sample s = task.generate(n, 1024);
            int at = s.prompt().indexOf("The code for " + s.target().substring(0, 3));
            double depth = (double) at / s.prompt().length();
            min = Math.min(min, depth);
            max = Math.max(max, depth);
            distance += s.prompt().length() - at;
        }
        assertThat(min).isLessThan(0.05);
        assertThat(max).isGreaterThan(0.9);
        assertThat(distance / samples).isBetween(350L, 650L);
    }
}
