import type { Environment } from "@/lib/api/types"
import { DeploymentsPanel } from "@/features/deployments/DeploymentsPanel"
import { GitPanel } from "@/features/git/GitPanel"

/** The side column of an environment's page: the git panel, then deployments. */
export function EnvironmentSidebar({ environment }: { environment: Environment }) {
  return (
    <>
      <GitPanel environment={environment} />
      <DeploymentsPanel environment={environment} />
    </>
  )
}
