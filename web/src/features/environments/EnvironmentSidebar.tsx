import type { Environment } from "@/lib/api/types"

/**
 * The side column of an environment's page. The git panel and the deployments panel will
 * live here; until they exist it renders nothing, and the layout gives the sessions the
 * whole width.
 */
export function EnvironmentSidebar(_props: { environment: Environment }) {
  return null
}
