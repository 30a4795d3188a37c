// The clock of a replay: where it is, how fast it goes, and what it writes on the way.

import { eventsUntil, play, type Cast, type ReplaySink } from "@/lib/recording/asciicast"

export const SPEEDS = [0.5, 1, 2, 4, 8] as const

export interface PlayerState {
  position: number
  playing: boolean
  speed: number
}

export class ReplayPlayer {
  private position = 0
  private next = 0
  private playing = false
  private speed = 1
  private lastTick = 0

  constructor(
    private readonly cast: Cast,
    private readonly sink: ReplaySink,
    private readonly now: () => number = () => performance.now(),
  ) {
    sink.reset()
    sink.resize(cast.cols, cast.rows)
  }

  get state(): PlayerState {
    return { position: this.position, playing: this.playing, speed: this.speed }
  }

  /** Starts playing; at the end, from the start again. */
  play(): void {
    if (this.position >= this.cast.duration) this.seek(0)
    this.playing = true
    this.lastTick = this.now()
  }

  pause(): void {
    this.tick()
    this.playing = false
  }

  setSpeed(speed: number): void {
    this.tick()
    this.speed = speed
  }

  /** Moves to `time`: the terminal is drawn again from the start up to it. */
  seek(time: number): void {
    const to = Math.min(Math.max(time, 0), this.cast.duration)
    this.sink.reset()
    this.sink.resize(this.cast.cols, this.cast.rows)
    this.next = eventsUntil(this.cast.events, to)
    play(this.cast.events, 0, this.next, this.sink)
    this.position = to
    this.lastTick = this.now()
  }

  /** Advances the clock to now and writes what happened meanwhile; `false` once it stops. */
  tick(): boolean {
    if (!this.playing) return false
    const now = this.now()
    this.position = Math.min(this.cast.duration, this.position + ((now - this.lastTick) / 1000) * this.speed)
    this.lastTick = now
    const until = eventsUntil(this.cast.events, this.position)
    play(this.cast.events, this.next, until, this.sink)
    this.next = until
    if (this.position >= this.cast.duration) this.playing = false
    return this.playing
  }
}
