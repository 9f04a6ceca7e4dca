/** The BasisError a piece of work throws; any other outcome fails the test. */
import { BasisError } from "../../lib/core/errors.ts";

export function catchBasisError(work: () => unknown): BasisError {
  try {
    work();
  } catch (error) {
    if (error instanceof BasisError) return error;
    throw error;
  }
  throw new Error("expected a BasisError");
}

export async function rejectionOf(work: Promise<unknown> | (() => Promise<unknown>)): Promise<BasisError> {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (error) {
    if (error instanceof BasisError) return error;
    throw error;
  }
  throw new Error("expected a BasisError");
}
