from course_supporter.cli import main

main()
