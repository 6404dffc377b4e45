/** KVSlim's OpenAI-compatible server. */
package dev.kvslim.serve;
