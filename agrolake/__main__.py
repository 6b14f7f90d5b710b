from agrolake.cli import main

main()
