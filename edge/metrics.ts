/** The metrics port: the app reports, each runtime decides where numbers go (prom-client on Node and Lambda). */
export interface EdgeMetrics {
  /** `route` is the matched route pattern (`/v1/jobs/:id`), never the raw path, to keep label cardinality bounded. */
  request(method: string, route: string, status: number, seconds: number): void;
  jobAccepted(source: string, replayed: boolean): void;
}

export const noMetrics: EdgeMetrics = {
  request() {},
  jobAccepted() {},
};
