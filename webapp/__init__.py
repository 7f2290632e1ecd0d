"""The web app's parts, each testable without Gradio Blocks; app.py lays them out and wires them.

    uploads   where uploaded release files are stored, and which inputs become update sources
    admin     who may add or remove releases (AddPolicy)
    keeper    the app's view of its index: status, start-up build, one writer at a time
    handlers  the question path (filters, guards) and the callbacks of the Ask and Index tabs
    present   answers, sources and status as escaped HTML/Markdown, and as plain data for scripts
"""
