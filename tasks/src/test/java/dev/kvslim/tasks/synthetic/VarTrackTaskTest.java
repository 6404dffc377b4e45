package dev.kvslim.tasks.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kvslim.tasks.Sample;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class VarTrackTaskTest {

    private static final Pattern ASSIGNMENT = Pattern.compile(" ([A-Z]{2})=([A-Z]{2}|\\d{4})\\.");
    private static final Pattern QUESTION = Pattern.compile("\nTrace ([A-Z]{2}):\n$");
    private final VarTrackTask task = new VarTrackTask();

    /** Assignments of the prompt, each checked to assign a new variable from a number or an assigned variable. */
    private static Map<String, String> assignments(String prompt) {
        Map<String, String> values = new HashMap<>();
        Matcher m = ASSIGNMENT.matcher(prompt);
        while (m.find()) {
            String value = m.group(2);
            assertThat(values).doesNotContainKey(m.group(1));
            if (!Character.isDigit(value.charAt(0))) {
                assertThat(values).as("chains appear in order").containsKey(value);
            }
            values.put(m.group(1), value);
        }
        return values;
    }

    @Test
    void theTargetFollowsTheAskedChainBackToItsNumber() {
        int[] hops = new int[5];
        for (int n = 0; n < 300; n++) {
            Sample s = task.generate(n, 1024);
            Map<String, String> values = assignments(s.prompt());
            Matcher q = QUESTION.matcher(s.prompt());
            assertThat(q.find()).isTrue();
            List<String> chain = new ArrayList<>();
            for (String at = q.group(1); at.matches("[A-Z]{2}"); at = values.get(at)) {
                chain.add(at);
            }
            String number = values.get(chain.getLast());
            assertThat(s.target()).isEqualTo(String.join("=", chain) + "=" + number + "\n");
            assertThat(s.answer()).isEqualTo(number);
            hops[chain.size()]++;
            assertThat(String.join("", values.keySet()).chars().distinct().count())
                    .as("names share no letter")
                    .isEqualTo(2L * values.size());
        }
        assertThat(hops[2]).isPositive();
        assertThat(hops[3]).isPositive();
        assertThat(hops[4]).isPositive();
    }

    @Test
    void eachHopIsAtAnyDepthAndOnAverageHundredsOfTokensBack() {
        int hopCount = 0;
        long distance = 0;
        double min = 1;
        double max = 0;
        for (int n = 0; n < 300; n++) {
            Sample s = task.generate(n, 1024);
            String[] chain = s.target().strip().split("=");
            for (int k = 0; k + 1 < chain.length; k++) {
                int at = s.prompt().indexOf(" " + chain[k] + "=" + chain[k + 1] + ".");
                assertThat(at).isPositive();
                double depth = (double) at / s.prompt().length();
                min = Math.min(min, depth);
                max = Math.max(max, depth);
                distance += s.prompt().length() - at;
                hopCount++;
            }
        }
        assertThat(min).isLessThan(0.05);
        assertThat(max).isGreaterThan(0.9);
        assertThat(distance / hopCount).isBetween(300L, 700L);
    }
}
