/* retailflow connector plugin ABI, version 1.
 *
 * A connector plugin is a shared library (.so) that exports exactly one symbol,
 * `rf_connector_init`. The host (retailflow) loads it with dlopen(RTLD_NOW | RTLD_LOCAL), calls
 * the init function once per configured connector instance, and from then on talks to the
 * instance only through the two function tables below. Nothing else is shared: no C++ types, no
 * allocator, no exceptions. Data crosses the boundary as JSON text (UTF-8, NUL-terminated).
 *
 * Plain C (C99) on purpose: any compiler, any language with a C FFI, and a layout that does not
 * depend on the C++ standard library of either side. See docs/connectors.md for the guide and
 * connectors/include/retailflow/connector_plugin.hpp for a C++ convenience layer.
 *
 * OWNERSHIP rules, applying to every pointer below unless its comment says otherwise:
 *  - A `const char*` passed by one side to the other is BORROWED: valid only for the duration
 *    of the call that receives it. Copy it if you need it later.
 *  - A `char*` returned by the plugin (describe) is owned by the plugin's allocator; the host
 *    hands it back through `free_string` exactly once and never calls free() on it.
 *  - The host table (rf_host_api) is owned by the host and stays valid, at the same address,
 *    from the init call until `shutdown` has returned.
 *  - The plugin table (rf_plugin_api) is a host-owned struct that the plugin fills in during
 *    init; the `plugin` state pointer inside it is owned by the plugin and released by it in
 *    `shutdown`.
 *  - An rf_call handle is an opaque token owned by the host. The plugin may copy it freely and
 *    must pass it to `complete` exactly once. It never dereferences it.
 *
 * THREADS: the host may call `invoke` and `cancel` concurrently from several threads, for
 * different calls of the same instance; `describe` may be called at any time after init.
 * The host never calls anything after (or concurrently with) `shutdown`. The host's `log` and
 * `complete` may be called from any thread, including from inside `invoke`, and are thread-safe.
 * `invoke` must not block on I/O: it starts the work and returns; the answer comes through
 * `complete`, later, from whatever thread the plugin likes.
 *
 * VERSIONING: RF_CONNECTOR_ABI_VERSION changes only when a function's meaning or a struct's
 * layout changes incompatibly. Compatible additions (a new field at the end of a table, a new
 * optional JSON member) keep the version and are detectable through `struct_size`. A host
 * speaks exactly one version; a plugin refuses (RF_INIT_ABI_MISMATCH) a version it does not
 * implement and the host refuses a plugin that reports another version than its own.
 */
#ifndef RETAILFLOW_CONNECTOR_ABI_H_
#define RETAILFLOW_CONNECTOR_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define RF_CONNECTOR_ABI_VERSION 1

/* The entry point's symbol name, for dlsym(). */
#define RF_CONNECTOR_INIT_SYMBOL "rf_connector_init"

/* Marks the entry point as exported even when the plugin builds with -fvisibility=hidden
 * (recommended: the plugin then exports nothing else). */
#if defined(__GNUC__) || defined(__clang__)
#define RF_CONNECTOR_EXPORT __attribute__((visibility("default")))
#else
#define RF_CONNECTOR_EXPORT
#endif

/* Return values of rf_connector_init. */
#define RF_INIT_OK 0
/* The plugin does not implement the host's ABI version. It must still set
 * plugin_api->abi_version to the version it does implement, so the host can say which. */
#define RF_INIT_ABI_MISMATCH 1
/* Anything else that went wrong (bad settings, a resource that cannot be opened). The plugin
 * writes a human-readable reason into the host's error buffer. */
#define RF_INIT_FAILED 2

/* Log levels for rf_host_api.log. */
#define RF_LOG_DEBUG 0
#define RF_LOG_INFO 1
#define RF_LOG_WARN 2
#define RF_LOG_ERROR 3

/* Error kinds for rf_host_api.complete (the words the workflow language uses in `on error`):
 *   "timeout"      the system did not answer in time (retried by default)
 *   "unavailable"  the system is down or overloaded, try later (retried by default)
 *   "rejected"     the system refused the request (4xx, business rule); retrying will not help
 *   "not_found"    the thing asked for does not exist
 *   "conflict"     the request clashes with the current state (already done, version mismatch)
 *   "internal"     a bug or an unexpected answer, in the plugin or the system
 * Any other text is reported to the workflow as "internal". */
#define RF_ERROR_TIMEOUT "timeout"
#define RF_ERROR_UNAVAILABLE "unavailable"
#define RF_ERROR_REJECTED "rejected"
#define RF_ERROR_NOT_FOUND "not_found"
#define RF_ERROR_CONFLICT "conflict"
#define RF_ERROR_INTERNAL "internal"

/* One invocation, as seen by the plugin: an opaque token owned by the host (see OWNERSHIP). */
typedef struct rf_call rf_call;

/* A plugin instance's own state: opaque to the host, owned by the plugin. */
typedef struct rf_plugin rf_plugin;

/* What the host offers the plugin. Filled by the host, read-only for the plugin. */
typedef struct rf_host_api {
  /* The ABI version the host speaks (RF_CONNECTOR_ABI_VERSION of the host's build). */
  uint32_t abi_version;
  /* sizeof(rf_host_api) in the host's build: fields beyond it do not exist. */
  uint32_t struct_size;
  /* Host state for `log`; pass it back unchanged. Owned by the host. */
  void* host_context;
  /* Writes one log line attributed to this connector instance. `message` is borrowed.
   * Thread-safe; may be called from any thread until `shutdown` returns. */
  void (*log)(void* host_context, int level, const char* message);
  /* Answers the call `call`. Must be called exactly once per invocation, from any thread,
   * possibly from inside `invoke` itself. A second answer for the same call is ignored (and
   * logged); so is an answer that comes after the host gave up on the call (its deadline
   * passed, or the instance is shutting down).
   *   ok           1 = success, 0 = failure
   *   error_kind   when ok == 0: one of the RF_ERROR_* words; ignored (may be NULL) when ok == 1
   *   message      when ok == 0: human-readable reason, may be NULL; ignored when ok == 1
   *   output_json  when ok == 1: a JSON object, the operation's output (NULL = {}); ignored
   *                when ok == 0. Invalid JSON turns the call into an "internal" failure.
   * All strings are borrowed: the host copies what it needs before returning. */
  void (*complete)(rf_call* call, int ok, const char* error_kind, const char* message,
                   const char* output_json);
} rf_host_api;

/* What the plugin offers the host. A host-owned struct, zeroed by the host and filled in by the
 * plugin during init. Every function pointer is required unless its comment says otherwise. */
typedef struct rf_plugin_api {
  /* The ABI version the plugin implements. Set it even when returning RF_INIT_ABI_MISMATCH. */
  uint32_t abi_version;
  /* sizeof(rf_plugin_api) in the plugin's build. */
  uint32_t struct_size;
  /* The instance's state, passed back as the first argument of every function below. */
  rf_plugin* plugin;

  /* The operations this connector offers, as a JSON object in the catalog's connector form
   * (docs/language.md, "Connector catalogs"):
   *   {"description": "…",
   *    "operations": [{"name": "score_return", "description": "…",
   *                    "input":  [{"name": "amount", "type": "money", "required": true}],
   *                    "output": [{"name": "score", "type": "number"}],
   *                    "side_effects": false, "writes": "", "compensable": true}]}
   * Types: text number money bool time duration list record any. Operation names must be unique.
   * The host fills in the connector's "name" and "system" from its configuration.
   * Returns a NUL-terminated string the host releases with `free_string`; NULL = failure. */
  char* (*describe)(rf_plugin* plugin);

  /* Starts one invocation. `call_json` (borrowed) is an object:
   *   {"instance_id":     workflow instance id,
   *    "invocation_id":   unique per attempt,
   *    "idempotency_key": stable across retries of one step execution and across re-dispatch
   *                       after a host crash: a plugin that writes must make the effect happen
   *                       once per key,
   *    "correlation_id":  for the downstream system's logs,
   *    "operation":       one of describe's operation names,
   *    "input":           a JSON object (numbers are exact decimal text; times ISO-8601 UTC
   *                       strings; durations text like "1h30m"),
   *    "deadline_ms":     give up by then: milliseconds since the Unix epoch (UTC) on the
   *                       wall clock of the host's machine, i.e. the host's wall clock when it
   *                       hands over the call plus the budget the call has left, whatever clock
   *                       the host's engine runs on (a demo's clock may be hours ahead);
   *                       0 = no deadline,
   *    "attempt":         1 for the first attempt,
   *    "previous_attempt_deadline_ms":
   *                       present only when the host re-dispatches a call after a restart: the
   *                       deadline (same clock as deadline_ms) of the attempt that was in
   *                       flight when the previous host process stopped. That attempt may still
   *                       be running at the downstream system until then; a plugin that cannot
   *                       make its effect atomic there can wait until it has passed before it
   *                       looks for what that attempt did}
   * Unknown members may appear in later versions and must be ignored.
   * `call` identifies the invocation in `complete` and `cancel`.
   * Must return promptly; the answer comes through host->complete, exactly once. */
  void (*invoke)(rf_plugin* plugin, const char* call_json, rf_call* call);

  /* Best effort: the host no longer needs the answer to `call` (its deadline passed). The
   * plugin may stop the work; it should still complete the call (the answer is dropped).
   * May be called after the call was completed: then it must do nothing. May be NULL. */
  void (*cancel)(rf_plugin* plugin, rf_call* call);

  /* Stops the instance: the plugin completes or abandons every call in flight, stops and
   * joins its own threads, and releases `plugin`. After it returns no code of the plugin runs
   * on any thread for this instance, and the host may unload the library once every instance
   * is shut down. Called exactly once. */
  void (*shutdown)(rf_plugin* plugin);

  /* Releases a string the plugin returned (describe). NULL is allowed and ignored. */
  void (*free_string)(rf_plugin* plugin, char* text);
} rf_plugin_api;

/* The entry point: creates one connector instance.
 *   host_abi_version  the ABI version the host speaks (RF_CONNECTOR_ABI_VERSION of the host)
 *   host              host table, valid until `shutdown` returns (see rf_host_api)
 *   settings_json     the instance's "settings" object from the configuration (borrowed; "{}"
 *                     when none)
 *   plugin_api        host-owned, zeroed; the plugin fills it in (see rf_plugin_api)
 *   error_buf         host-owned buffer of error_buf_size bytes for a NUL-terminated reason
 *                     when the result is not RF_INIT_OK (truncate to fit)
 * Returns RF_INIT_OK, RF_INIT_ABI_MISMATCH or RF_INIT_FAILED. On failure the plugin releases
 * whatever it allocated: the host calls nothing else of this instance.
 * Registration of operations happens here (or lazily in describe), never in static
 * initializers. May be called several times (several instances), not concurrently. */
typedef int (*rf_connector_init_fn)(uint32_t host_abi_version, const rf_host_api* host,
                                    const char* settings_json, rf_plugin_api* plugin_api,
                                    char* error_buf, size_t error_buf_size);

RF_CONNECTOR_EXPORT int rf_connector_init(uint32_t host_abi_version, const rf_host_api* host,
                                          const char* settings_json, rf_plugin_api* plugin_api,
                                          char* error_buf, size_t error_buf_size);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RETAILFLOW_CONNECTOR_ABI_H_ */
