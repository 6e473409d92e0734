# tools: worker-convert, worker-bench
