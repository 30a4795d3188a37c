import type { Environment } from "@/lib/api/types"
import { DeploymentsPanel } from "@/features/deployments/DeploymentsPanel"
import { ResourcesCard } from "@/features/environments/EnvironmentSize"
import { GitPanel } from "@/features/git/GitPanel"

/** The side column of an environment's page: the git panel, deployments, then what the
 * workspaces use. */
export function EnvironmentSidebar({ environment }: { environment: Environment }) {
  return (
    <>
      <GitPanel environment={environment} />
      <DeploymentsPanel environment={environment} />
      <ResourcesCard environment={environment} />
    </>
  )
}
