import { Check, CircleAlert, Copy, ExternalLink, LoaderCircle, Unlink } from "lucide-react"
import { useEffect, useEffectEvent, useState } from "react"
import { toast } from "sonner"

import { ConfirmDialog } from "@/components/ConfirmDialog"
import { GitHubMark } from "@/components/GitHubMark"
import { ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card"
import { Skeleton } from "@/components/ui/skeleton"
import { useNow } from "@/hooks/useNow"
import { describeError, isUnavailable } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import type { GitHubDeviceFlow, GitHubPoll } from "@/lib/api/types"
import { pollDeviceFlow } from "@/features/github/deviceFlow"
import { useDisconnectGitHub, useGitHubStatus, useRefreshGitHub } from "@/features/github/hooks"

type Flow =
  | { phase: "idle" }
  | { phase: "starting" }
  | { phase: "pending"; flow: GitHubDeviceFlow; interval: number; startedAt: number }
  | { phase: "expired" }
  | { phase: "denied" }
  | { phase: "failed"; error: unknown }

export function GitHubCard() {
  const status = useGitHubStatus()
  return (
    <Card data-testid="github-card">
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <GitHubMark />
          GitHub
        </CardTitle>
        <CardDescription>
          A linked account clones your private repositories, lists them when you create an environment, and pushes
          with your rights.
        </CardDescription>
      </CardHeader>
      {status.isPending ? (
        <CardContent className="space-y-3">
          <Skeleton className="h-5 w-56" />
          <Skeleton className="h-9 w-32" />
        </CardContent>
      ) : status.isError && !isUnavailable(status.error) ? (
        <CardContent>
          <ErrorState error={status.error} title="Could not read the GitHub link" onRetry={() => void status.refetch()} />
        </CardContent>
      ) : status.isError ? (
        <Unavailable message={status.error.message} />
      ) : status.data.connected ? (
        <Linked username={status.data.username ?? null} />
      ) : (
        <LinkFlow />
      )}
    </Card>
  )
}

function Unavailable({ message }: { message: string }) {
  return (
    <>
      <CardContent>
        <p
          className="bg-muted/60 text-muted-foreground rounded-md border px-3 py-2 text-sm"
          data-testid="github-status"
          data-state="unavailable"
        >
          {message}
        </p>
      </CardContent>
      <CardFooter className="justify-end">
        <Button data-testid="github-link-button" disabled>
          <GitHubMark />
          Link GitHub
        </Button>
      </CardFooter>
    </>
  )
}

function Linked({ username }: { username: string | null }) {
  const [confirming, setConfirming] = useState(false)
  const disconnect = useDisconnectGitHub()
  return (
    <>
      <CardContent>
        <p className="flex items-center gap-2 text-sm" data-testid="github-status" data-state="connected">
          <Check className="text-success size-4" aria-hidden />
          <span>
            Linked to{" "}
            {username ? (
              <a
                href={`https://github.com/${encodeURIComponent(username)}`}
                target="_blank"
                rel="noreferrer noopener"
                className="font-medium underline-offset-4 hover:underline"
                data-testid="github-username"
              >
                {username}
              </a>
            ) : (
              "your GitHub account"
            )}
          </span>
        </p>
      </CardContent>
      <CardFooter className="justify-end">
        <Button
          variant="outline"
          data-testid="github-unlink-button"
          onClick={() => {
            setConfirming(true)
          }}
        >
          <Unlink aria-hidden />
          Unlink
        </Button>
      </CardFooter>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        destructive
        title="Unlink GitHub?"
        description={
          <>
            <p>
              Craftastic forgets the token of {username ? <span className="text-foreground">{username}</span> : "the account"}.
              Environments already cloned stay, but pushing to private GitHub repositories and new private clones stop
              working until you link again.
            </p>
            <p>To take back the access on GitHub too, revoke the app in GitHub&apos;s settings.</p>
          </>
        }
        confirmLabel="Unlink"
        onConfirm={async () => {
          await disconnect.mutateAsync()
          toast.success("GitHub unlinked")
        }}
      />
    </>
  )
}

function LinkFlow() {
  const [state, setState] = useState<Flow>({ phase: "idle" })
  const [unavailable, setUnavailable] = useState<string | null>(null)
  const refresh = useRefreshGitHub()
  const pending = state.phase === "pending" ? state.flow : null

  const start = async () => {
    setState({ phase: "starting" })
    try {
      const flow = await apiCalls.githubInitiate()
      setState({ phase: "pending", flow, interval: flow.interval, startedAt: Date.now() })
    } catch (error) {
      if (isUnavailable(error)) {
        setUnavailable(error.message)
        setState({ phase: "idle" })
      } else {
        setState({ phase: "failed", error })
      }
    }
  }

  const finished = useEffectEvent((answer: GitHubPoll) => {
    if (answer.status === "connected") {
      toast.success(answer.username ? `GitHub linked as ${answer.username}` : "GitHub linked")
      setState({ phase: "idle" })
      void refresh()
    } else {
      setState({ phase: answer.status === "denied" ? "denied" : "expired" })
    }
  })

  useEffect(() => {
    if (!pending) return
    const controller = new AbortController()
    pollDeviceFlow({
      flowId: pending.flowId,
      interval: pending.interval,
      poll: apiCalls.githubPoll,
      signal: controller.signal,
      onPending: (answer) => {
        setState((s) => (s.phase === "pending" ? { ...s, interval: answer.interval } : s))
      },
    }).then(
      (answer) => {
        finished(answer)
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ phase: "failed", error })
      },
    )
    return () => {
      controller.abort()
    }
  }, [pending])

  if (unavailable) return <Unavailable message={unavailable} />

  if (state.phase === "pending") {
    return (
      <PendingFlow
        flow={state.flow}
        interval={state.interval}
        startedAt={state.startedAt}
        onCancel={() => {
          setState({ phase: "idle" })
        }}
      />
    )
  }

  const outcome =
    state.phase === "expired"
      ? "The code expired before it was entered. Start again to get a new one."
      : state.phase === "denied"
        ? "The request was denied on GitHub. Start again if that was a mistake."
        : state.phase === "failed"
          ? describeError(state.error)
          : null

  return (
    <>
      <CardContent className="space-y-3">
        {outcome ? (
          <p
            role="alert"
            data-testid="github-status"
            data-state={state.phase}
            className="border-destructive/30 bg-destructive/5 flex items-start gap-2 rounded-md border px-3 py-2 text-sm"
          >
            <CircleAlert className="text-destructive mt-0.5 size-4 shrink-0" aria-hidden />
            <span>{outcome}</span>
          </p>
        ) : (
          <p className="text-muted-foreground text-sm" data-testid="github-status" data-state="unlinked">
            Not linked. GitHub shows a code to enter; nothing is shared until you approve it there.
          </p>
        )}
      </CardContent>
      <CardFooter className="justify-end">
        <Button data-testid="github-link-button" disabled={state.phase === "starting"} onClick={() => void start()}>
          {state.phase === "starting" ? <LoaderCircle className="animate-spin" aria-hidden /> : <GitHubMark />}
          {outcome ? "Start again" : "Link GitHub"}
        </Button>
      </CardFooter>
    </>
  )
}

function PendingFlow({
  flow,
  interval,
  startedAt,
  onCancel,
}: {
  flow: GitHubDeviceFlow
  interval: number
  startedAt: number
  onCancel: () => void
}) {
  const now = useNow(true)
  const [copied, setCopied] = useState(false)
  const left = Math.max(0, Math.min(flow.expiresIn, Math.ceil(flow.expiresIn - (now - startedAt) / 1000)))
  const shownUri = flow.verificationUri.replace(/^https?:\/\//, "")

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(flow.userCode)
      setCopied(true)
      setTimeout(() => {
        setCopied(false)
      }, 2_000)
    } catch {
      toast.error("Could not copy the code", { description: "Select it and copy it by hand." })
    }
  }

  return (
    <>
      <CardContent className="space-y-4" data-testid="github-flow">
        <ol className="space-y-4 text-sm">
          <li className="space-y-1.5">
            <p className="font-medium">1. Open GitHub&apos;s device page</p>
            <a
              href={flow.verificationUri}
              target="_blank"
              rel="noreferrer noopener"
              data-testid="github-verification-link"
              className="text-info inline-flex items-center gap-1 underline-offset-4 hover:underline"
            >
              {shownUri}
              <ExternalLink className="size-3.5" aria-hidden />
              <span className="sr-only">(opens in a new tab)</span>
            </a>
          </li>
          <li className="space-y-2">
            <p className="font-medium">2. Enter this code</p>
            <div className="bg-muted/50 flex w-fit max-w-full items-center gap-2 rounded-lg border py-2 pr-2 pl-4">
              <code
                className="font-mono text-2xl font-semibold tracking-[0.2em] select-all sm:text-3xl"
                data-testid="github-user-code"
                aria-label={`Code ${flow.userCode.split("").join(" ")}`}
              >
                {flow.userCode}
              </code>
              <Button
                variant="ghost"
                size="icon"
                aria-label={copied ? "Copied" : "Copy the code"}
                title="Copy the code"
                data-testid="github-copy-code"
                onClick={() => void copy()}
              >
                {copied ? <Check className="text-success" aria-hidden /> : <Copy aria-hidden />}
              </Button>
            </div>
          </li>
        </ol>
        <p
          className="text-muted-foreground flex items-center gap-2 text-sm"
          role="status"
          data-testid="github-status"
          data-state="pending"
        >
          <LoaderCircle className="size-4 shrink-0 animate-spin motion-reduce:animate-none" aria-hidden />
          <span>
            Waiting for you to approve on GitHub (checking every {interval} s; the code expires in {formatClock(left)}).
          </span>
        </p>
      </CardContent>
      <CardFooter className="justify-end">
        <Button variant="outline" data-testid="github-cancel-button" onClick={onCancel}>
          Cancel
        </Button>
      </CardFooter>
    </>
  )
}

/** 905 → "15:05". */
function formatClock(seconds: number): string {
  const m = Math.floor(seconds / 60)
  const s = seconds % 60
  return `${m}:${s.toString().padStart(2, "0")}`
}
