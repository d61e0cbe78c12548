package dev.handoff.tickets;

import java.util.UUID;

/**
 * What to issue a ticket for: the player and the target backend, and optionally the pool, the proxy
 * session id and state bytes. Immutable; {@code toString()} shows the state's length only.
 *
 * @param clientUuid the player
 * @param target the backend the player moves to ({@code aud})
 * @param pool the pool ({@code pool}), or null
 * @param sessionId the proxy session id ({@code sid}), or null
 * @param state state handed to the target backend, or null
 * @param stateMode how state travels (null: {@link StateMode#AUTO})
 */
public record IssueRequest(UUID clientUuid, String target, String pool, String sessionId, byte[] state, StateMode stateMode) {
  /** A request with only the required parts. */
  public static IssueRequest of(UUID clientUuid, String target) {
    return new IssueRequest(clientUuid, target, null, null, null, null);
  }

  /** A copy with {@code pool}. */
  public IssueRequest withPool(String value) {
    return new IssueRequest(clientUuid, target, value, sessionId, state, stateMode);
  }

  /** A copy with {@code sid}. */
  public IssueRequest withSessionId(String value) {
    return new IssueRequest(clientUuid, target, pool, value, state, stateMode);
  }

  /** A copy with state bytes (not copied: do not change the array afterwards). */
  public IssueRequest withState(byte[] bytes) {
    return new IssueRequest(clientUuid, target, pool, sessionId, bytes, stateMode);
  }

  /** A copy with state bytes and a state mode. */
  public IssueRequest withState(byte[] bytes, StateMode mode) {
    return new IssueRequest(clientUuid, target, pool, sessionId, bytes, mode);
  }

  @Override
  public String toString() {
    return "IssueRequest[clientUuid=" + clientUuid + ", target=" + target + ", pool=" + pool + ", sessionId=" + sessionId
        + ", state=" + (state == null ? "none" : state.length + " bytes") + ", stateMode=" + stateMode + "]";
  }
}
