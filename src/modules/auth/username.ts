/** The login name as compared: NFKC, lower case, trimmed. */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}
