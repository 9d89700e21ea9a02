"""SOP runbooks: parsing, offline embeddings, a ChromaDB index, retrieval and its evaluation."""
