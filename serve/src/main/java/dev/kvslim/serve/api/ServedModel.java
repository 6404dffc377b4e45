package dev.kvslim.serve.api;

import dev.kvslim.core.format.LoadedModel;
import dev.kvslim.serve.schedule.Scheduler;

/** A model the API serves under {@code name} (the {@code model} field of requests), with the scheduler that runs it. */
public record ServedModel(String name, LoadedModel loaded, Scheduler scheduler) {}
