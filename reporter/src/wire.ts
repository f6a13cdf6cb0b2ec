// The ingest API's wire shapes, as types only: they come from the control plane's zod contracts,
// so the two sides cannot drift, and nothing of zod reaches the reporter at run time.
export type {
  CiContext,
  EventBatch,
  EventResponse,
  IngestEvent,
  SetupBody,
  SetupResponse,
  Shard,
  TeardownBody,
  TeardownResponse,
  TestEndEvent,
} from '../../worker/contracts/ingest';
