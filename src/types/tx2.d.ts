// tx2 ships no types; only the part Parley uses.
declare module 'tx2' {
  interface Tx2 {
    metric(options: { name: string; unit?: string; value: () => number | string }): void;
  }
  const tx2: Tx2;
  export default tx2;
}
