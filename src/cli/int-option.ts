import { InvalidArgumentError } from 'commander';

/** A commander parser for a whole number in [min, max]; `what` names it in the error ("a port"). */
export function intOption(name: string, min: number, max: number, what = 'an integer') {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be ${what} ${min}-${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}
