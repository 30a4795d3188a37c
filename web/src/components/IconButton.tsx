import { Button } from "@/components/ui/button"
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip"

/** A small icon-only button of a list row, named by `label` (also its tooltip). */
export function IconButton({
  label,
  testId,
  destructive,
  onClick,
  children,
}: {
  label: string
  testId: string
  destructive?: boolean
  onClick: () => void
  children: React.ReactNode
}) {
  return (
    <Tooltip>
      <TooltipTrigger asChild>
        <Button
          variant="ghost"
          size="icon-sm"
          aria-label={label}
          data-testid={testId}
          onClick={onClick}
          className={destructive ? "text-muted-foreground hover:text-destructive" : "text-muted-foreground"}
        >
          {children}
        </Button>
      </TooltipTrigger>
      <TooltipContent>{label}</TooltipContent>
    </Tooltip>
  )
}
