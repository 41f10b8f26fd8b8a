"""Reports rendered from records by pure functions: Markdown tables in the paper's layouts."""
