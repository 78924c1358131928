/**
 * The Node flags the Docker image runs the service with (Dockerfile's ENTRYPOINT; a test keeps the two the same),
 * so that the bench's workers measure what is deployed. BENCH_WORKER_NODE_OPTIONS replaces them (bench/deployment.ts).
 */
export const WORKER_NODE_FLAGS = '--heap-growing-percent=50 --max-semi-space-size=16';
