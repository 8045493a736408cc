package tasks_test

import (
	"encoding/json"
	"fmt"

	"github.com/reglock/reglock/tasks"
)

// A producer builds a task with the tasks package alone and enqueues it with
// an asynq.Client (client.Enqueue(task)).
func ExampleNewLockTask() {
	task, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{
		Domain: "Bücher.Example.", Provider: "enom-main", Reason: "billing: domain paid",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var p tasks.LockPayload
	_ = json.Unmarshal(task.Payload(), &p)
	fmt.Println(task.Type(), p.Domain, p.Provider)

	_, err = tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: "www.example.com"}})
	fmt.Println(err)
	// Output:
	// domain:lock xn--bcher-kva.example enom-main
	// invalid domain "www.example.com": a subdomain; its registered domain is "example.com"
}
