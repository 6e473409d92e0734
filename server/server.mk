# server: worker-orcd
