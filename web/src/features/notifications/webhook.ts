// A light check of a webhook's address before it is sent; the server checks it again and
// says why when it refuses one.

/** What is wrong with `text` as a webhook's address, or null. */
export function webhookUrlProblem(text: string): string | null {
  const url = text.trim()
  if (url === "") return "Enter the webhook's address."
  if (/\s/.test(url)) return "An address has no spaces."
  if (!url.startsWith("https://") && !url.startsWith("http://")) {
    return "The address starts with https:// or http://."
  }
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    return "This is not a web address, as in https://ntfy.sh/my-topic."
  }
  return host === "" ? "The address has no host, as in https://ntfy.sh/my-topic." : null
}
