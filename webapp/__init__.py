"""The web app's parts, each testable without Gradio Blocks; app.py lays them out and wires them.

    uploads   where uploaded release files are stored, and which inputs become update sources
    admin     who may add or remove releases (AddPolicy)
    keeper    the app's view of its index: status, start-up build, one writer at a time
    handlers  the question path (filters, guards) and the callbacks of the Ask and Index tabs
    releases  the release list (rows, filters, keys) and the releases-per-year chart, from index.catalog
    examples  example questions that fit the served index
    present   answers, sources and status as escaped HTML/Markdown, the conversation as Markdown,
              and plain data for scripts

The ratings store is bot.feedback (the bot's CLI exports it without importing the app).
"""
