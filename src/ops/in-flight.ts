// A count of work in progress and a promise for the moment it reaches zero: requests on the server, request
// handlers in Koa. Shutdown waits on both.
export class InFlight {
  private current = 0;
  private waiters: Array<() => void> = [];

  get count(): number {
    return this.current;
  }

  enter(): void {
    this.current += 1;
  }

  leave(): void {
    this.current -= 1;
    if (this.current === 0) this.waiters.splice(0).forEach((wake) => wake());
  }

  idle(): Promise<void> {
    return this.current === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}
