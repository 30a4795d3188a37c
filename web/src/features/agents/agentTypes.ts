import { Asterisk, Bot, Braces, CodeXml, Hexagon, MousePointer2, Sparkle, type LucideIcon } from "lucide-react"

import type { AgentType } from "@/lib/api/types"

/** What the UI says about each agent type: the server's six, in its order. */
export interface AgentKind {
  type: AgentType
  label: string
  /** The CLI an agent session starts. */
  command: string
  icon: LucideIcon
  /** What an `api-key` credential is for this CLI. */
  apiKeyHint: string
  /** What an `oauth` credential is for this CLI; null when it takes none. */
  oauthHint: string | null
}

export const AGENT_KINDS: readonly AgentKind[] = [
  {
    type: "claude-code",
    label: "Claude Code",
    command: "claude",
    icon: Asterisk,
    apiKeyHint: "An Anthropic API key (ANTHROPIC_API_KEY), or a token from claude setup-token.",
    oauthHint: "The content of ~/.claude/.credentials.json after logging in with claude.",
  },
  {
    type: "gemini-cli",
    label: "Gemini CLI",
    command: "gemini",
    icon: Sparkle,
    apiKeyHint: "A Gemini API key (GEMINI_API_KEY).",
    oauthHint: "The content of ~/.gemini/oauth_creds.json after logging in with gemini.",
  },
  {
    type: "qwen-coder",
    label: "Qwen Code",
    command: "qwen",
    icon: Hexagon,
    apiKeyHint: "An OpenAI-compatible API key (OPENAI_API_KEY).",
    oauthHint: "The content of ~/.qwen/oauth_creds.json after logging in with qwen.",
  },
  {
    type: "cursor-cli",
    label: "Cursor CLI",
    command: "cursor-agent",
    icon: MousePointer2,
    apiKeyHint: "A Cursor API key (CURSOR_API_KEY).",
    oauthHint: null,
  },
  {
    type: "codex",
    label: "Codex",
    command: "codex",
    icon: Braces,
    apiKeyHint: "An OpenAI API key (OPENAI_API_KEY).",
    oauthHint: "The content of ~/.codex/auth.json after signing in with ChatGPT (codex login).",
  },
  {
    type: "opencode",
    label: "OpenCode",
    command: "opencode",
    icon: CodeXml,
    apiKeyHint: "The provider, a colon, then its API key: anthropic:sk-ant-… or openai:sk-….",
    oauthHint: "The content of ~/.local/share/opencode/auth.json after opencode auth login.",
  },
]

export function agentKind(type: string): AgentKind | undefined {
  return AGENT_KINDS.find((k) => k.type === type)
}

/** "Claude Code" for `claude-code`; a type this UI does not know shows as it is. */
export function agentLabel(type: string): string {
  return agentKind(type)?.label ?? type
}

export function agentIcon(type: string): LucideIcon {
  return agentKind(type)?.icon ?? Bot
}
