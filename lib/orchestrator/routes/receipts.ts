/** `GET /api/receipts/:hash`: a finished job's receipt, its hashed core and its status. */
import { ReceiptAnswerSchema } from "../../core/api-contract.ts";
import { RECEIPT_HASH_PATTERN } from "../../core/receipt.ts";
import { answer, type Handler, HttpError } from "../http.ts";
import { receiptView } from "../receipts.ts";
import type { Store } from "../store.ts";

/** Same auth as dispatch (server.ts): a receipt may carry the caller's `user`. */
export function receiptRoute(store: Store): Handler {
  return async ({ params }) => {
    const hash = (params.hash ?? "").toLowerCase();
    if (!RECEIPT_HASH_PATTERN.test(hash)) throw new HttpError(400, "invalid_receipt_hash", "A receipt hash is 64 hex characters.");
    const found = await store.getReceipt(hash);
    if (!found) throw new HttpError(404, "receipt_not_found", "No receipt has this hash.");
    return answer(ReceiptAnswerSchema, 200, receiptView(found.receipt, found.reward));
  };
}
