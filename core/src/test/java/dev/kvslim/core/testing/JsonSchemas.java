package dev.kvslim.core.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The oracle of the structured-output tests: a text must parse as JSON (Jackson) and validate against its schema
 * (networknt's json-schema-validator, JSON Schema 2020-12), libraries we did not write.
 */
public final class JsonSchemas {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final SchemaRegistry VALIDATORS =
            SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    private JsonSchemas() {}

    /** A validator of {@code schema}, to check many texts against it. */
    public static Schema validator(JsonNode schema) {
        return VALIDATORS.getSchema(schema.toString(), InputFormat.JSON);
    }

    /** Fails unless {@code text} is JSON that validates against {@code schema}. */
    public static void assertValid(String text, JsonNode schema) {
        assertValid(validator(schema), text, schema);
    }

    /** Fails unless {@code text} is JSON that {@code validator} (of {@code schema}, named in the failure) accepts. */
    public static void assertValid(Schema validator, String text, JsonNode schema) {
        JsonNode value;
        try {
            value = JSON.readTree(text);
        } catch (RuntimeException e) {
            throw new AssertionError("not JSON: " + text + "\nschema: " + schema, e);
        }
        assertThat(validator.validate(value)).as("%s\nagainst %s", text, schema).isEmpty();
    }
}
