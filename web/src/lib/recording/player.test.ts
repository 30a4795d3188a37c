import { describe, expect, it } from "vitest"

import { parseCast, type ReplaySink } from "@/lib/recording/asciicast"
import { ReplayPlayer } from "@/lib/recording/player"

const text = [
  JSON.stringify({ version: 2, width: 100, height: 30, timestamp: 1 }),
  '[0,"o","one "]',
  '[1,"o","two "]',
  '[2,"r","80x24"]',
  '[3,"o","three"]',
].join("\n")

function setup() {
  const calls: string[] = []
  const sink: ReplaySink = {
    reset: () => calls.push("reset"),
    write: (data) => calls.push(data),
    resize: (cols, rows) => calls.push(`${cols}x${rows}`),
  }
  const clock = { now: 0 }
  const player = new ReplayPlayer(parseCast(text), sink, () => clock.now)
  calls.length = 0
  return { player, calls, clock }
}

describe("ReplayPlayer", () => {
  it("writes each event when its time comes, at the chosen speed", () => {
    const { player, calls, clock } = setup()
    player.play()
    expect(player.tick()).toBe(true)
    expect(calls).toEqual(["one "])
    clock.now = 1000
    player.tick()
    expect(calls).toEqual(["one ", "two "])
    player.setSpeed(2)
    clock.now = 2000
    expect(player.tick()).toBe(false)
    expect(calls).toEqual(["one ", "two ", "80x24", "three"])
    expect(player.state).toEqual({ position: 3, playing: false, speed: 2 })
  })

  it("draws the screen again from the start when it seeks, and stays put while paused", () => {
    const { player, calls, clock } = setup()
    player.seek(2.5)
    expect(calls).toEqual(["reset", "100x30", "one two ", "80x24"])
    calls.length = 0
    clock.now = 5000
    expect(player.tick()).toBe(false)
    expect(calls).toEqual([])
    expect(player.state.position).toBe(2.5)
  })

  it("starts again from the start once it has played to the end", () => {
    const { player, calls, clock } = setup()
    player.seek(3)
    calls.length = 0
    player.play()
    expect(player.state.position).toBe(0)
    clock.now = 500
    player.tick()
    expect(calls).toEqual(["reset", "100x30", "one "])
  })
})
