module github.com/cutover/cutover

go 1.26.8
