"""One GroupCog per feature: /train, /datasets, /models, /jobs, /account."""
