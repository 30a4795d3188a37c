import type { GitHubRepository } from "@/lib/api/types"

/** The repositories named by `query` (in their full name, any case). */
export function matchRepositories(repositories: GitHubRepository[], query: string): GitHubRepository[] {
  const q = query.trim().toLowerCase()
  return q === "" ? repositories : repositories.filter((r) => r.fullName.toLowerCase().includes(q))
}

/** `ada/shop.web` → `shop.web`: an environment name to propose for a repository. */
export function repositoryName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf("/") + 1)
}
